//! Pipeline stages: the interface every stage implements, the registry that lists them, and
//! the helpers they share.
//!
//! Each stage is one file holding its config (the fields of its `kind`), its compile step and
//! its hot-path run, side by side. A new stage is that file, a `mod` line and a line in the
//! `stages!` registry below. The registry generates [`StageConfig`] (the serde shape: an
//! object tagged by `kind`, or the kind's name alone for a stage without fields) and
//! [`Stage`] (the compiled form) with its dispatch. The rules a stage's config must follow
//! are its own [`StageRun::check`], which [`crate::validate`] runs with every other rule;
//! compiling a validated config cannot fail on them.
//!
//! Dispatch is static: [`Stage`] is an enum whose methods `match` on the variant and call the
//! stage's `#[inline]` [`StageRun`] methods, so every stage's code inlines into one function,
//! as it did when all stages were written in one `match`. No trait object on the hot path:
//! the poll loop is benchmarked against `dpdk-testpmd` by instruction count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::compile::{self, BridgeTables, RouteTables};
use crate::config::wire::{self, Value};
use crate::config::PipelineConfig;
use crate::error::EngineError;
use crate::net::{parse_mac, Mac};
use crate::validate::StageCheck;

pub mod acl;
pub mod bridge;
pub mod drop;
pub mod five_tuple_swap;
pub mod generator;
pub mod io;
pub mod mac_rewrite;
pub mod mac_swap;
pub mod r#match;
pub mod route;
mod shuffle;

/// Verdict: drop the packet.
pub const DROP: u16 = u16::MAX;
/// Verdict: send a copy out of every bridge port but the one it came in on.
pub const FLOOD: u16 = u16::MAX - 1;
/// Verdict of a packet in a pipeline without outputs that no stage has sent anywhere yet: a
/// stage may still send it (a route, a match's forward), else it is dropped at the end. Unlike
/// [`DROP`], stages go on looking at it. Every verdict from here up is no port.
pub const UNSENT: u16 = u16::MAX - 2;

/// Adds `n` to a counter only this thread writes (a plain load and store, no locked op).
#[inline]
pub fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed) + n, Relaxed);
}

/// Indexes into a pipeline's counters in the stats segment
/// ([`stats::Segment::pipeline_counters`]).
pub mod counter {
    /// Packets that entered (received or generated).
    pub const IN: usize = 0;
    /// Packets handed to an output's tx buffer (copies included).
    pub const OUT: usize = 1;
    /// Packets a stage dropped (drop stage, drop rules, bridge filtering, no output).
    pub const DROPPED: usize = 2;
    /// Packets the generator made.
    pub const GENERATED: usize = 3;
    /// Probes missing among those this worker has seen come back (sequence gaps, less
    /// the late ones that filled them).
    pub const PROBES_LOST: usize = 4;
    /// Probes that came back after one with a later sequence number.
    pub const PROBES_REORDERED: usize = 5;
    /// Packets the generator's rate asked for that it could not make in time.
    pub const PACE_MISSED: usize = 6;
}

/// What every stage implements: its compile step and its hot-path run, side by side.
///
/// `run` and `rewrite_all` are `#[inline]` in every implementation: [`Stage`]'s dispatch
/// relies on them inlining into it.
pub trait StageRun: Sized {
    /// The stage's config: the fields of its [`StageConfig`] variant.
    type Config;

    /// Checks the config's own rules (formats, bounds, the ports it names), reporting every
    /// problem in `cx` (`crate::validate` calls it for each stage; a config whose stages all
    /// pass compiles). Stages without fields have none.
    fn check(_config: &Self::Config, _cx: &mut StageCheck<'_>) {}

    /// The ports besides the pipeline's outputs that the stage sends on, each with the field
    /// that names it (a match stage's `action.forward`): each worker running the pipeline
    /// needs a tx queue there (`crate::plan::senders`, before EAL and at compile).
    fn sends_to(_config: &Self::Config) -> Vec<(&str, &'static str)> {
        Vec::new()
    }

    /// EAL heap bytes the stage's tables take (route tables, ACL classifiers), counted by
    /// the memory plan before EAL starts (`crate::plan::memory`). Stages without tables
    /// take none.
    fn table_bytes(_config: &Self::Config) -> u64 {
        0
    }

    /// Compiles the config (resolving ports, parsing addresses, taking counter slots and
    /// carried state from `cx`); `None` when the stage compiles to nothing.
    fn compile(
        config: &Self::Config,
        cx: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError>;

    /// Runs over a burst; `verdict[i]` is packet i's output port, [`DROP`] or [`FLOOD`].
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        port_macs: &[Mac],
        ctx: &mut StageContext<'_>,
    );

    /// Runs over a whole burst bound for port `out` (the [`compile::Flow::Whole`] case: no
    /// verdicts to consult). Only stages that say [`StageRun::rewrites_only`] need it; the
    /// others do nothing here.
    #[inline]
    fn rewrite_all(&self, _pkts: &mut [dpdk::Mbuf], _out: u16, _port_macs: &[Mac]) {}

    /// Whether the stage only rewrites headers, never deciding where a packet goes (so a
    /// pipeline of such stages sends whole bursts through [`StageRun::rewrite_all`]).
    fn rewrites_only(&self) -> bool {
        false
    }

    /// Whether the stage drops every packet (first in a pipeline, the whole burst is freed).
    fn drops_all(&self) -> bool {
        false
    }

    /// Whether the stage needs the time ([`StageContext::now_s`]); such a stage may also
    /// answer [`FLOOD`], which copies to the pipeline's outputs.
    fn needs_clock(&self) -> bool {
        false
    }
}

/// The registry: one line per stage, `Variant("kind"[, shorthand]) => module::{Config,
/// Compiled}`. `kind` is the name configs use; `shorthand` marks a stage without fields,
/// which may be written as its name alone (`'macSwap'` for `{ kind: 'macSwap' }`).
///
/// Generates [`StageConfig`] (read from `{ kind, ...fields }` or the shorthand name),
/// [`Stage`] (the compiled stages, an enum) and the `match`es that dispatch each to its
/// stage's code.
macro_rules! stages {
    ($($Variant:ident($kind:literal $(, $shorthand:ident)?) => $module:ident::{$Config:ident, $Compiled:ident},)*) => {
        $(pub use $module::{$Config, $Compiled};)*

        /// One stage of a pipeline, as configured: `kind` names it, its fields follow.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum StageConfig {
            $(
                #[doc = concat!("See [`", stringify!($Config), "`].")]
                $Variant($Config),
            )*
        }

        /// A compiled stage.
        #[derive(Debug)]
        pub enum Stage {
            $(
                #[doc = concat!("See [`", stringify!($Compiled), "`].")]
                $Variant($Compiled),
            )*
        }

        impl StageConfig {
            /// Every stage kind, in registry order.
            pub const KINDS: &'static [&'static str] = &[$($kind),*];

            /// The kinds that may be written as their name alone.
            pub const SHORTHANDS: &'static [&'static str] = &[$($(stages!(@shorthand $shorthand $kind),)?)*];

            /// The stage of `kind` with `fields` (a map without `kind`).
            fn from_fields(kind: &str, fields: Value) -> Result<Self, wire::WireError> {
                match kind {
                    $($kind => Ok(Self::$Variant(wire::from_value(fields)?)),)*
                    other => Err(de::Error::custom(format!(
                        "unknown stage {other:?} (stages: {})",
                        Self::KINDS.join(", ")
                    ))),
                }
            }

            /// Checks this stage's own rules ([`StageRun::check`]).
            pub(crate) fn check(&self, cx: &mut StageCheck<'_>) {
                match self {
                    $(Self::$Variant(config) => <$Compiled as StageRun>::check(config, cx),)*
                }
            }

            /// See [`StageRun::sends_to`].
            pub(crate) fn sends_to(&self) -> Vec<(&str, &'static str)> {
                match self {
                    $(Self::$Variant(config) => <$Compiled as StageRun>::sends_to(config),)*
                }
            }

            /// See [`StageRun::table_bytes`].
            pub(crate) fn table_bytes(&self) -> u64 {
                match self {
                    $(Self::$Variant(config) => <$Compiled as StageRun>::table_bytes(config),)*
                }
            }

            /// Compiles this stage; `None` for stages that compile to nothing (`io`).
            pub fn compile(
                &self,
                cx: &mut CompileContext<'_>,
            ) -> Result<Option<Stage>, EngineError> {
                Ok(match self {
                    $(Self::$Variant(config) => {
                        <$Compiled as StageRun>::compile(config, cx)?.map(Stage::$Variant)
                    })*
                })
            }
        }

        impl Stage {
            /// See [`StageRun::rewrite_all`].
            #[inline]
            pub fn rewrite_all(&self, pkts: &mut [dpdk::Mbuf], out: u16, port_macs: &[Mac]) {
                match self {
                    $(Self::$Variant(stage) => stage.rewrite_all(pkts, out, port_macs),)*
                }
            }

            /// See [`StageRun::run`].
            #[inline]
            pub fn run(
                &self,
                pkts: &mut [dpdk::Mbuf],
                verdict: &mut [u16],
                port_macs: &[Mac],
                ctx: &mut StageContext<'_>,
            ) {
                match self {
                    $(Self::$Variant(stage) => stage.run(pkts, verdict, port_macs, ctx),)*
                }
            }

            /// See [`StageRun::rewrites_only`].
            pub fn rewrites_only(&self) -> bool {
                match self {
                    $(Self::$Variant(stage) => stage.rewrites_only(),)*
                }
            }

            /// See [`StageRun::drops_all`].
            pub fn drops_all(&self) -> bool {
                match self {
                    $(Self::$Variant(stage) => stage.drops_all(),)*
                }
            }

            /// See [`StageRun::needs_clock`].
            pub fn needs_clock(&self) -> bool {
                match self {
                    $(Self::$Variant(stage) => stage.needs_clock(),)*
                }
            }
        }
    };
    (@shorthand shorthand $kind:literal) => { $kind };
}

stages! {
    Io("io", shorthand) => io::{IoConfig, Io},
    MacRewrite("macRewrite") => mac_rewrite::{MacRewriteConfig, MacRewrite},
    MacSwap("macSwap", shorthand) => mac_swap::{MacSwapConfig, MacSwap},
    FiveTupleSwap("fiveTupleSwap", shorthand) => five_tuple_swap::{FiveTupleSwapConfig, FiveTupleSwap},
    Drop("drop", shorthand) => drop::{DropConfig, DropAll},
    Match("match") => r#match::{RuleConfig, Rules},
    Bridge("bridge") => bridge::{BridgeConfig, Bridge},
    Route("route") => route::{RouteConfig, Route},
    Acl("acl") => acl::{AclConfig, AclStage},
}

/// A stage is read whole first (its `kind` may come after its fields), then as its kind.
impl<'de> Deserialize<'de> for StageConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Stage;
        impl<'de> Visitor<'de> for Stage {
            type Value = StageConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a stage: { kind, ... } or the name of a stage without fields")
            }
            fn visit_str<E: de::Error>(self, kind: &str) -> Result<StageConfig, E> {
                if !StageConfig::SHORTHANDS.contains(&kind) {
                    return Err(E::custom(format!(
                        "{kind:?} is not a stage written by name alone (those are: {})",
                        StageConfig::SHORTHANDS.join(", ")
                    )));
                }
                StageConfig::from_fields(kind, Value::Map(Vec::new())).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StageConfig, A::Error> {
                let (mut kind, mut fields) = (None, Vec::new());
                while let Some(key) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    match (key.as_str(), value) {
                        ("kind", Value::Str(k)) if kind.is_none() => kind = Some(k),
                        ("kind", _) => {
                            return Err(de::Error::custom(
                                "`kind` must be a stage name, given once",
                            ))
                        }
                        (_, value) => fields.push((Value::Str(key), value)),
                    }
                }
                let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
                StageConfig::from_fields(&kind, Value::Map(fields)).map_err(de::Error::custom)
            }
        }
        d.deserialize_any(Stage)
    }
}

/// What a stage's compile step sees: where it sits, the pipeline around it, and the state the
/// whole program accumulates (counter slots, rule names, bridge tables carried across
/// programs).
#[derive(Debug)]
pub struct CompileContext<'a> {
    /// `pipelines[i].stages[s]`: where its errors point.
    pub path: String,
    /// The pipeline's index in the config.
    pub pipeline: usize,
    /// The pipeline's display name.
    pub pipeline_name: &'a str,
    /// The pipeline's counter slot in the stats segment.
    pub pipeline_slot: usize,
    /// The stage's index in its pipeline, as configured (`io` stages included).
    pub stage: usize,
    /// The pipeline's config.
    pub pipeline_config: &'a PipelineConfig,
    /// The pipeline's output ports, resolved, in config order.
    pub outputs: &'a [u16],
    /// Port index by name.
    pub ports: &'a HashMap<&'a str, u16>,
    /// Where pipelines and rules count.
    pub segment: &'a stats::Segment,
    /// Match stages compiled so far: (pipeline index, name, counter slot), in config order.
    pub rule_names: &'a mut Vec<(usize, String, usize)>,
    /// The running program's bridge tables, to carry over.
    pub bridges: &'a BridgeTables,
    /// The bridge tables the new program keeps.
    pub next_bridges: &'a mut BridgeTables,
    /// Each port's MAC, by index.
    pub port_macs: &'a [Mac],
    /// The running program's route tables, kept where a stage is unchanged.
    pub routes: &'a RouteTables,
    /// The route tables the new program runs.
    pub next_routes: &'a mut RouteTables,
}

impl CompileContext<'_> {
    /// The index of port `name` (validated: an unknown one is a bug).
    pub fn port(&self, name: &str) -> Result<u16, EngineError> {
        compile::port_index(self.ports, name)
    }
}

/// A MAC address from a validated config (an unparsable one is a bug).
fn mac_field(text: &str) -> Result<Mac, EngineError> {
    parse_mac(text).map_err(|e| compile::unvalidated(&e))
}

/// Per-burst scratch a worker lends to the stages.
#[derive(Debug)]
pub struct StageContext<'a> {
    /// Port the burst came in on (`DROP` for generated packets).
    pub in_port: u16,
    /// Seconds since the engine started (for bridge aging).
    pub now_s: u64,
    /// Copies to send after the burst: (port, packet).
    pub copies: &'a mut Vec<(u16, dpdk::Mbuf)>,
    /// Pool for copies.
    pub pool: &'a dpdk::Mempool,
    /// Where rules count.
    pub segment: &'a stats::Segment,
    /// This worker's index.
    pub worker: usize,
    /// Whether rules count their matches (`stats.counters`).
    pub counting: bool,
    /// Copies that could not be made (pool empty or copy list full).
    pub copy_failures: u64,
}

impl StageContext<'_> {
    /// Queues a copy of `m` for `port`, counting a failure when none can be made.
    fn copy_to(&mut self, port: u16, m: &dpdk::Mbuf) {
        if self.copies.len() == self.copies.capacity() {
            self.copy_failures += 1;
            return;
        }
        match m.deep_copy(self.pool) {
            Some(copy) => self.copies.push((port, copy)),
            None => self.copy_failures += 1,
        }
    }
}

/// Up to a burst of pairs, in the order pushed, kept as two arrays (a stage hands one of
/// them to DPDK whole, say the addresses to look up, and keeps the other); the slots past
/// them stay uninitialised (a burst of IPv4 clears no arrays of IPv6 addresses, nor any
/// other).
pub(crate) struct Batch<A: Copy, B: Copy> {
    firsts: [std::mem::MaybeUninit<A>; dpdk::BURST_SIZE],
    seconds: [std::mem::MaybeUninit<B>; dpdk::BURST_SIZE],
    len: usize,
}

impl<A: Copy, B: Copy> Batch<A, B> {
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            firsts: [const { std::mem::MaybeUninit::uninit() }; dpdk::BURST_SIZE],
            seconds: [const { std::mem::MaybeUninit::uninit() }; dpdk::BURST_SIZE],
            len: 0,
        }
    }

    /// Adds a pair (a burst's worth at most: one more is not kept).
    #[inline]
    pub(crate) fn push(&mut self, first: A, second: B) {
        if let (Some(a), Some(b)) = (
            self.firsts.get_mut(self.len),
            self.seconds.get_mut(self.len),
        ) {
            a.write(first);
            b.write(second);
            self.len += 1;
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first of each pair.
    #[inline]
    pub(crate) fn firsts(&self) -> &[A] {
        // SAFETY: the first `len` slots were written by `push`.
        unsafe { std::slice::from_raw_parts(self.firsts.as_ptr().cast::<A>(), self.len) }
    }

    /// The second of each pair.
    #[inline]
    pub(crate) fn seconds(&self) -> &[B] {
        // SAFETY: as for `firsts`.
        unsafe { std::slice::from_raw_parts(self.seconds.as_ptr().cast::<B>(), self.len) }
    }
}

/// How far ahead [`each_prefetched`] asks for packet headers (testpmd's macswap uses 4).
const PREFETCH_DISTANCE: usize = 4;

/// Runs `rewrite(i, bytes)` over every packet, with the headers of the packets
/// [`PREFETCH_DISTANCE`] ahead already on their way into the cache.
#[inline]
fn each_prefetched(pkts: &mut [dpdk::Mbuf], mut rewrite: impl FnMut(usize, &mut [u8])) {
    for m in pkts.iter().take(PREFETCH_DISTANCE) {
        m.prefetch_data();
    }
    for i in 0..pkts.len() {
        if let Some(ahead) = pkts.get(i + PREFETCH_DISTANCE) {
            ahead.prefetch_data();
        }
        rewrite(i, pkts[i].data_mut());
    }
}
