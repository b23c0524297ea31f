//! `macRewrite`: set the destination MAC, and the source MAC to a given one or the output
//! port's own (testpmd's `mac` forwarding mode).

use serde::Deserialize;

use super::{each_prefetched, mac_field, CompileContext, StageContext, StageRun, UNSENT};
use crate::error::EngineError;
use crate::net::Mac;
use crate::validate::StageCheck;

/// Set the destination MAC, and the source MAC to `src` or the output port's (testpmd `mac`):
/// `{ kind: 'macRewrite', dst, src? }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacRewriteConfig {
    /// New destination MAC.
    pub dst: String,
    /// New source MAC; absent means the output port's own.
    #[serde(default)]
    pub src: Option<String>,
}

/// The compiled `macRewrite` stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacRewrite {
    /// Source MAC; `None` uses the packet's output port's own MAC.
    pub src: Option<Mac>,
    /// Destination MAC.
    pub dst: Mac,
}

impl StageRun for MacRewrite {
    type Config = MacRewriteConfig;

    fn check(config: &Self::Config, cx: &mut StageCheck<'_>) {
        cx.mac("dst", &config.dst);
        if let Some(src) = &config.src {
            cx.mac("src", src);
        }
    }

    fn compile(
        config: &MacRewriteConfig,
        _: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
        Ok(Some(Self {
            dst: mac_field(&config.dst)?,
            src: config.src.as_deref().map(mac_field).transpose()?,
        }))
    }

    #[inline]
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        port_macs: &[Mac],
        _ctx: &mut StageContext<'_>,
    ) {
        let Self { src, dst } = self;
        each_prefetched(pkts, |i, d| {
            let v = verdict[i];
            if v >= UNSENT {
                return; // dropped, flooded, or no port yet: no port MAC to take
            }
            if let Some(head) = d.first_chunk_mut::<12>() {
                head[..6].copy_from_slice(dst);
                head[6..].copy_from_slice(src.as_ref().unwrap_or(&port_macs[usize::from(v)]));
            }
        });
    }

    #[inline]
    fn rewrite_all(&self, pkts: &mut [dpdk::Mbuf], out: u16, port_macs: &[Mac]) {
        let Self { src, dst } = self;
        let mut header = [0u8; 12];
        header[..6].copy_from_slice(dst);
        header[6..].copy_from_slice(src.as_ref().unwrap_or(&port_macs[usize::from(out)]));
        each_prefetched(pkts, |_, d| {
            if let Some(head) = d.first_chunk_mut::<12>() {
                *head = header;
            }
        });
    }

    fn rewrites_only(&self) -> bool {
        true
    }
}
