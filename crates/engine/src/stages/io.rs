//! `io`: pass packets unchanged (testpmd's `io` forwarding mode).
//!
//! It compiles to nothing, so that a pipeline of `io` stages is the bare
//! [`Flow::Whole`](crate::compile::Flow::Whole) loop: receive, send. Its compiled form is
//! uninhabited, which lets the compiler drop its arm from every dispatch.

use std::convert::Infallible;

use serde::Deserialize;

use super::{CompileContext, StageContext, StageRun};
use crate::error::EngineError;
use crate::net::Mac;

/// Pass packets unchanged (testpmd `io`): `{ kind: 'io' }`, no fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoConfig {}

/// The compiled `io` stage, which never exists: `io` compiles to nothing. Uninhabited (it
/// holds an [`Infallible`]), so no dispatch arm for it is ever generated into the loop.
#[derive(Debug)]
pub struct Io(Infallible);

impl StageRun for Io {
    type Config = IoConfig;

    fn compile(_: &IoConfig, _: &mut CompileContext<'_>) -> Result<Option<Self>, EngineError> {
        Ok(None)
    }

    #[inline]
    fn run(&self, _: &mut [dpdk::Mbuf], _: &mut [u16], _: &[Mac], _: &mut StageContext<'_>) {
        match self.0 {}
    }
}
