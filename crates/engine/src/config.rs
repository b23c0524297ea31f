//! The engine config, as decoded from the msgpack bytes `@fastpath/control` sends.
//!
//! Field names and defaults mirror `@fastpath/types`. Unknown fields are errors on both
//! sides, and `version` must be [`SCHEMA_VERSION`].

use serde::Deserialize;

use crate::error::EngineError;

/// The config schema version this engine understands.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole engine config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EngineConfig {
    /// Must equal [`SCHEMA_VERSION`].
    pub version: u32,
    /// Ports, in port-id order. io forwarding pairs them 0↔1, 2↔3, ...
    pub ports: Vec<PortConfig>,
    /// Which CPUs run what.
    pub lcores: LcoreConfig,
    /// Packet memory.
    #[serde(default)]
    pub memory: MemoryConfig,
    /// EAL settings.
    #[serde(default)]
    pub eal: EalConfig,
}

/// One port: a vdev spec or a PCI address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortConfig {
    /// A display name; defaults to the device name.
    #[serde(default)]
    pub name: Option<String>,
    /// A DPDK vdev spec: `net_null0`, `net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap`, ...
    #[serde(default)]
    pub vdev: Option<String>,
    /// A PCI address to allow-list and drive, e.g. `0000:03:00.0`.
    #[serde(default)]
    pub pci: Option<String>,
    /// Rx ring size.
    #[serde(default = "default_descriptors")]
    pub rx_descriptors: u16,
    /// Tx ring size.
    #[serde(default = "default_descriptors")]
    pub tx_descriptors: u16,
    /// Accept every destination MAC.
    #[serde(default = "yes")]
    pub promiscuous: bool,
}

impl PortConfig {
    /// The DPDK device name the port is found by: the vdev spec up to its first comma,
    /// or the PCI address.
    pub fn device_name(&self) -> &str {
        match (&self.vdev, &self.pci) {
            (Some(vdev), _) => vdev.split(',').next().unwrap_or(vdev),
            (None, Some(pci)) => pci,
            (None, None) => "",
        }
    }

    /// The name shown to users.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or_else(|| self.device_name())
    }
}

/// Lcore layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LcoreConfig {
    /// The main (control) lcore; defaults to the first CPU this process may use.
    #[serde(default)]
    pub main: Option<u32>,
    /// Worker lcores that run the poll loops. At least one.
    pub workers: Vec<u32>,
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

fn default_descriptors() -> u16 {
    1024
}
fn default_mbufs() -> u32 {
    8191
}
fn default_mbuf_cache() -> u32 {
    256
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
                    format!("schema version {v} is not supported by this engine (it reads version {SCHEMA_VERSION}); use matching @fastpath/control and native binding"),
                ))
            }
            None => return Err(EngineError::config("version", "missing; set it to 1")),
        }
        rmp_serde::from_slice(bytes).map_err(|e| EngineError::config("", format!("{e}")))
    }
}
