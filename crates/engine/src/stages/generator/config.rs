//! A generator's config, as the engine decodes it from the wire (`pipelines[].generator`).

use serde::Deserialize;

/// A txonly/flowgen-style packet generator: UDP over IPv4 or IPv6.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorConfig {
    /// Frame size in bytes (60..=2048 without the FCS); `sizes` says more.
    #[serde(default)]
    pub packet_size: Option<u16>,
    /// Frame sizes: a size, a list (made in turn), `"imix"`, or `{ size, weight }`s.
    #[serde(default)]
    pub sizes: Option<SizesConfig>,
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
    /// Source address, or a range `first-last` stepped through packet by packet.
    #[serde(default = "default_src_ip")]
    pub src_ip: String,
    /// Destination address, or a range.
    #[serde(default = "default_dst_ip")]
    pub dst_ip: String,
    /// UDP source port (default 1024), or a range `"lo-hi"`.
    #[serde(default)]
    pub src_port: Option<PortSpec>,
    /// UDP destination port (default 9), or a range.
    #[serde(default)]
    pub dst_port: Option<PortSpec>,
    /// Stop after this many packets (absent: run until stopped).
    #[serde(default)]
    pub count: Option<u64>,
    /// Paced rate (absent: as fast as the worker and the port go).
    #[serde(default)]
    pub rate: Option<RateConfig>,
    /// Every packet is a latency probe (a TSC stamp and a sequence number in its payload).
    #[serde(default)]
    pub probe: bool,
}

/// `sizes`: one, a list made in turn, a named mix, or weights.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SizesConfig {
    /// One size.
    One(u64),
    /// `"imix"`.
    Named(String),
    /// Sizes made in turn, or weighted sizes (made in proportion, interleaved).
    List(Vec<SizeItem>),
}

/// An element of a `sizes` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SizeItem {
    /// A size (weight 1).
    Size(u64),
    /// A size and its weight.
    Weighted {
        /// Frame size.
        size: u64,
        /// Its share (relative to the others).
        weight: u64,
    },
}

/// A UDP port or a range `"lo-hi"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PortSpec {
    /// One port.
    One(u64),
    /// `"lo-hi"` (or one port as text).
    Range(String),
}

/// `rate`: exactly one of packets per second, bits per second (frames and their FCS), or a
/// percentage of the output port's link speed (frames, FCS, preamble and gap: 100 is line
/// rate).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateConfig {
    /// Packets per second.
    #[serde(default)]
    pub pps: Option<f64>,
    /// Bits per second (each frame's bytes and its 4-byte FCS).
    #[serde(default)]
    pub bps: Option<f64>,
    /// Percent of the link speed (each frame's bytes plus 24: FCS, preamble, gap).
    #[serde(default)]
    pub percent: Option<f64>,
}

// Rates are compared as configs are (validation refuses NaN).
impl Eq for RateConfig {}

fn one_u32() -> u32 {
    1
}
fn default_burst() -> u16 {
    32
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
