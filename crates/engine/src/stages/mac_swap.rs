//! `macSwap`: swap the source and destination MAC of every packet (testpmd's `macswap`).

use serde::Deserialize;

use super::shuffle::swap_macs_then;
use super::{each_prefetched, CompileContext, StageContext, StageRun, DROP};
use crate::error::EngineError;
use crate::net::{self, Mac};

/// Swap source and destination MAC (testpmd `macswap`): `{ kind: 'macSwap' }`, no fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacSwapConfig {}

/// The compiled `macSwap` stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacSwap;

impl StageRun for MacSwap {
    type Config = MacSwapConfig;

    fn compile(_: &MacSwapConfig, _: &mut CompileContext<'_>) -> Result<Option<Self>, EngineError> {
        Ok(Some(Self))
    }

    #[inline]
    fn run(
        &self,
        pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        _port_macs: &[Mac],
        _ctx: &mut StageContext<'_>,
    ) {
        each_prefetched(pkts, |i, d| {
            if verdict[i] != DROP {
                net::swap_macs(d);
            }
        });
    }

    #[inline]
    fn rewrite_all(&self, pkts: &mut [dpdk::Mbuf], _out: u16, _port_macs: &[Mac]) {
        swap_macs_then(pkts, |_| {});
    }

    fn rewrites_only(&self) -> bool {
        true
    }
}
