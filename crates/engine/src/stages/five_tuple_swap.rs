//! `fiveTupleSwap`: swap MACs, IP addresses and L4 ports of every packet (testpmd's
//! `5tswap`), so that a reply goes back the way the packet came.

use serde::Deserialize;

use super::shuffle::swap_macs_then;
use super::{each_prefetched, CompileContext, StageContext, StageRun, DROP};
use crate::error::EngineError;
use crate::net::{self, Mac};

/// Swap MACs, IP addresses and L4 ports (testpmd `5tswap`): `{ kind: 'fiveTupleSwap' }`, no
/// fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiveTupleSwapConfig {}

/// The compiled `fiveTupleSwap` stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiveTupleSwap;

impl StageRun for FiveTupleSwap {
    type Config = FiveTupleSwapConfig;

    fn compile(
        _: &FiveTupleSwapConfig,
        _: &mut CompileContext<'_>,
    ) -> Result<Option<Self>, EngineError> {
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
                net::swap_five_tuple(d);
            }
        });
    }

    #[inline]
    fn rewrite_all(&self, pkts: &mut [dpdk::Mbuf], _out: u16, _port_macs: &[Mac]) {
        swap_macs_then(pkts, net::swap_addresses_and_ports);
    }

    fn rewrites_only(&self) -> bool {
        true
    }
}
