//! `drop`: drop every packet (testpmd's `rxonly`). First in a pipeline, the worker frees
//! whole bursts without looking at them ([`Flow::DropAll`](crate::compile::Flow::DropAll)).

use serde::Deserialize;

use super::{CompileContext, StageContext, StageRun, DROP};
use crate::error::EngineError;
use crate::net::Mac;

/// Drop everything (testpmd `rxonly`): `{ kind: 'drop' }`, no fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropConfig {}

/// The compiled `drop` stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropAll;

impl StageRun for DropAll {
    type Config = DropConfig;

    fn compile(_: &DropConfig, _: &mut CompileContext<'_>) -> Result<Option<Self>, EngineError> {
        Ok(Some(Self))
    }

    #[inline]
    fn run(
        &self,
        _pkts: &mut [dpdk::Mbuf],
        verdict: &mut [u16],
        _port_macs: &[Mac],
        _ctx: &mut StageContext<'_>,
    ) {
        verdict.fill(DROP);
    }

    fn drops_all(&self) -> bool {
        true
    }
}
