//! The engine config, as decoded from the msgpack bytes `@fastpath/control` sends.
//!
//! This is the wire shape: `@fastpath/types` validates the user's config (with paths in
//! every error), normalises shorthands (a port record becomes a named list, `'drop'`
//! becomes `{ kind: 'drop' }`, one port name becomes a list of one) and encodes it. Unknown
//! fields are errors on both sides, and `version` must be [`SCHEMA_VERSION`].

use serde::Deserialize;

use crate::error::EngineError;

/// The config schema version this engine understands.
pub const SCHEMA_VERSION: u32 = 2;

/// A whole engine config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EngineConfig {
    /// Must equal [`SCHEMA_VERSION`].
    pub version: u32,
    /// EAL settings.
    #[serde(default)]
    pub eal: EalConfig,
    /// Packet memory.
    #[serde(default)]
    pub memory: MemoryConfig,
    /// Ports, in port-id order, each with a unique name.
    pub ports: Vec<PortConfig>,
    /// Which CPUs run what.
    pub lcores: LcoreConfig,
    /// Input port(s) → stages → output port(s).
    #[serde(default)]
    pub pipelines: Vec<PipelineConfig>,
    /// What the workers count.
    #[serde(default)]
    pub stats: StatsConfig,
}

/// What the workers count in the shared-memory stats segment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatsConfig {
    /// Per-lcore software counters (lanes, loop cycles, pipeline and rule counters); on by
    /// default. Off, the workers count nothing and port counts come from the drivers alone
    /// (what a stats-on/off benchmark compares).
    #[serde(default = "default_true")]
    pub counters: bool,
    /// The group the segment file (mode 0640) is given to, by name or id, so that its
    /// members may read it; default the engine's own group.
    #[serde(default)]
    pub group: Option<String>,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            counters: true,
            group: None,
        }
    }
}

fn default_true() -> bool {
    true
}

/// One port and where its packets come from. Exactly one source field is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortConfig {
    /// The name pipelines use for it.
    pub name: String,
    /// A raw DPDK vdev spec: `net_null0`, `net_ring0`, `net_memif0,role=server`, ...
    #[serde(default)]
    pub vdev: Option<String>,
    /// A PCI address to allow-list and drive, e.g. `0000:03:00.0`.
    #[serde(default)]
    pub pci: Option<String>,
    /// Packets from and to pcap files (`net_pcap`).
    #[serde(default)]
    pub pcap: Option<PcapSource>,
    /// A kernel interface through `AF_PACKET` sockets (`net_af_packet`).
    #[serde(default)]
    pub af_packet: Option<AfPacketSource>,
    /// A new kernel TAP interface (`net_tap`).
    #[serde(default)]
    pub tap: Option<TapSource>,
    /// An in-memory ring whose tx feeds its own rx (`net_ring`).
    #[serde(default)]
    pub ring: Option<EmptySource>,
    /// A packet sink and endless source (`net_null`).
    #[serde(default)]
    pub null: Option<NullSource>,
    /// Rx queues (spread by RSS where the driver can hash).
    #[serde(default = "one")]
    pub queues: u16,
    /// Rx ring size.
    #[serde(default = "default_descriptors")]
    pub rx_descriptors: u16,
    /// Tx ring size.
    #[serde(default = "default_descriptors")]
    pub tx_descriptors: u16,
    /// Accept every destination MAC.
    #[serde(default = "yes")]
    pub promiscuous: bool,
    /// MTU to set.
    #[serde(default)]
    pub mtu: Option<u16>,
    /// MAC address to set, `aa:bb:cc:dd:ee:ff`.
    #[serde(default)]
    pub mac: Option<String>,
}

/// `net_pcap` files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PcapSource {
    /// File to read packets from.
    #[serde(default)]
    pub rx: Option<String>,
    /// File to write sent packets to.
    #[serde(default)]
    pub tx: Option<String>,
    /// Replay the rx file forever.
    #[serde(default)]
    pub infinite_rx: bool,
}

/// `net_af_packet` on a kernel interface.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AfPacketSource {
    /// The interface, e.g. `veth0`.
    pub iface: String,
}

/// `net_tap`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TapSource {
    /// The interface name to create.
    #[serde(default)]
    pub iface: Option<String>,
}

/// A source without settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptySource {}

/// `net_null`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NullSource {
    /// Size of the packets it makes.
    #[serde(default)]
    pub size: Option<u16>,
}

/// Lcore layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LcoreConfig {
    /// The main (control) lcore; defaults to the first CPU this process may use.
    #[serde(default)]
    pub main: Option<u32>,
    /// The CPU the main lcore runs on (default: the CPU of the same number).
    #[serde(default)]
    pub main_cpu: Option<u32>,
    /// Worker lcores that run the poll loops. At least one.
    pub workers: Vec<WorkerConfig>,
}

/// One worker lcore.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkerConfig {
    /// Its lcore id.
    pub lcore: u32,
    /// The CPU it runs on (default: the CPU of the same number).
    #[serde(default)]
    pub cpu: Option<u32>,
    /// The rx queues it alone polls; absent means "assign for me".
    #[serde(default)]
    pub rx: Option<Vec<QueueRef>>,
}

/// A (port, queue) pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueueRef {
    /// Port name.
    pub port: String,
    /// Queue index.
    pub queue: u16,
}

/// Packet memory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MemoryConfig {
    /// `true` requires hugepages, `false` runs without them (`--no-huge`, IOVA as VA),
    /// absent uses them when enough are free.
    #[serde(default)]
    pub hugepages: Option<bool>,
    /// Mbufs in the packet pool (best as 2^k - 1).
    #[serde(default = "default_mbufs")]
    pub mbufs: u32,
    /// Per-lcore mbuf cache.
    #[serde(default = "default_mbuf_cache")]
    pub mbuf_cache: u32,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            hugepages: None,
            mbufs: default_mbufs(),
            mbuf_cache: default_mbuf_cache(),
        }
    }
}

/// EAL settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EalConfig {
    /// Runtime-directory prefix; defaults to `fastpath-<pid>`.
    #[serde(default)]
    pub file_prefix: Option<String>,
    /// `"PA"` or `"VA"` to force an IOVA mode.
    #[serde(default)]
    pub iova_mode: Option<String>,
    /// `--log-level`, e.g. `notice`.
    #[serde(default)]
    pub log_level: Option<String>,
    /// Echo DPDK's log to stderr.
    #[serde(default = "yes")]
    pub log_to_stderr: bool,
    /// Extra EAL arguments, appended last.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

impl Default for EalConfig {
    fn default() -> Self {
        Self {
            file_prefix: None,
            iova_mode: None,
            log_level: None,
            log_to_stderr: true,
            extra_args: Vec::new(),
        }
    }
}

/// Input port(s) → ordered stages → output port(s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PipelineConfig {
    /// A name for stats and errors; defaults to `pipeline<i>`.
    #[serde(default)]
    pub name: Option<String>,
    /// Ports whose received packets enter this pipeline.
    #[serde(default)]
    pub input: Vec<String>,
    /// Makes packets instead of (or besides) receiving them.
    #[serde(default)]
    pub generator: Option<GeneratorConfig>,
    /// Stages, run in order on every burst.
    #[serde(default)]
    pub stages: Vec<StageConfig>,
    /// Where packets go when no stage decides otherwise (the first port), or the ports a
    /// bridge forwards between.
    #[serde(default)]
    pub output: Vec<String>,
}

/// A txonly/flowgen-style packet generator: UDP over IPv4, `flows` distinct 5-tuples.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorConfig {
    /// Frame size in bytes (60..=2048 without the FCS).
    #[serde(default = "default_packet_size")]
    pub packet_size: u16,
    /// Distinct flows (source UDP port and source address vary).
    #[serde(default = "one_u32")]
    pub flows: u32,
    /// Packets per burst.
    #[serde(default = "default_burst")]
    pub burst: u16,
    /// Source MAC; defaults to the output port's.
    #[serde(default)]
    pub src_mac: Option<String>,
    /// Destination MAC.
    #[serde(default = "default_dst_mac")]
    pub dst_mac: String,
    /// First source IPv4 address.
    #[serde(default = "default_src_ip")]
    pub src_ip: String,
    /// Destination IPv4 address.
    #[serde(default = "default_dst_ip")]
    pub dst_ip: String,
    /// Stop after this many packets (absent: run until stopped).
    #[serde(default)]
    pub count: Option<u64>,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum StageConfig {
    /// Pass packets unchanged (testpmd `io`).
    Io,
    /// Set the destination MAC, and the source MAC to `src` or the output port's (testpmd `mac`).
    MacRewrite {
        /// New destination MAC.
        dst: String,
        /// New source MAC; absent means the output port's own.
        #[serde(default)]
        src: Option<String>,
    },
    /// Swap source and destination MAC (testpmd `macswap`).
    MacSwap,
    /// Swap MACs, IP addresses and L4 ports (testpmd `5tswap`).
    FiveTupleSwap,
    /// Drop everything (testpmd `rxonly`).
    Drop,
    /// A header match and what to do with matching packets (counted per stage).
    Match {
        /// A name for stats; defaults to `stage<i>`.
        #[serde(default)]
        name: Option<String>,
        /// What it matches (all given fields must hold).
        #[serde(rename = "match")]
        matches: MatchConfig,
        /// What it does.
        action: ActionConfig,
    },
    /// An L2 MAC-learning bridge over the pipeline's output ports.
    #[serde(rename_all = "camelCase")]
    Bridge {
        /// Seconds a learned MAC stays valid without traffic from it.
        #[serde(default = "default_aging")]
        aging_s: u32,
    },
}

/// Header fields to match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MatchConfig {
    /// Ethertype after any VLAN tag, e.g. 0x0800.
    #[serde(default)]
    pub ethertype: Option<u16>,
    /// VLAN id of the outer tag.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Source IPv4/IPv6 prefix, `10.0.0.0/8` or `2001:db8::/32`.
    #[serde(default)]
    pub src: Option<String>,
    /// Destination prefix.
    #[serde(default)]
    pub dst: Option<String>,
    /// IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 `ICMPv6`).
    #[serde(default)]
    pub proto: Option<u8>,
    /// Source L4 port range, inclusive.
    #[serde(default)]
    pub src_port: Option<[u16; 2]>,
    /// Destination L4 port range, inclusive.
    #[serde(default)]
    pub dst_port: Option<[u16; 2]>,
}

/// What a matching rule does.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum ActionConfig {
    /// Drop the packet (counted).
    Drop,
    /// Count it and go on to the next stage.
    Count,
    /// Send it out of `port` (and go on to the next stage).
    Forward {
        /// Port name.
        port: String,
    },
    /// Send a copy out of `port` and go on with the original.
    Mirror {
        /// Port name.
        port: String,
    },
}

fn one() -> u16 {
    1
}
fn one_u32() -> u32 {
    1
}
fn default_descriptors() -> u16 {
    1024
}
fn default_mbufs() -> u32 {
    8191
}
fn default_mbuf_cache() -> u32 {
    256
}
fn default_packet_size() -> u16 {
    64
}
fn default_burst() -> u16 {
    32
}
fn default_aging() -> u32 {
    300
}
fn default_dst_mac() -> String {
    "02:00:00:00:00:02".into()
}
fn default_src_ip() -> String {
    "198.18.0.1".into()
}
fn default_dst_ip() -> String {
    "198.19.0.1".into()
}
fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u32>,
}

impl EngineConfig {
    /// Decodes msgpack bytes, checking the schema version first so that a newer or older
    /// config is reported as such rather than as a confusing field error.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Self, EngineError> {
        let head: VersionOnly = rmp_serde::from_slice(bytes).map_err(|e| {
            EngineError::config(
                "",
                format!("the config is not a msgpack map ({e}); encode it with @fastpath/control"),
            )
        })?;
        match head.version {
            Some(SCHEMA_VERSION) => {}
            Some(v) => {
                return Err(EngineError::config(
                    "version",
                    format!(
                        "schema version {v} is not supported by this engine (it reads version {SCHEMA_VERSION}); \
                         use matching @fastpath/control and native binding"
                    ),
                ))
            }
            None => return Err(EngineError::config("version", format!("missing; set it to {SCHEMA_VERSION}"))),
        }
        rmp_serde::from_slice(bytes).map_err(|e| EngineError::config("", e))
    }

    /// The display name of pipeline `i`.
    pub fn pipeline_name(&self, i: usize) -> String {
        self.pipelines[i]
            .name
            .clone()
            .unwrap_or_else(|| format!("pipeline{i}"))
    }
}
