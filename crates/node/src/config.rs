//! `configProblems`: the engine's config rules (`engine::validate`) for `@fastpath/control`,
//! without starting anything or reading the machine. `@fastpath/types` checks a config's
//! shape with zod; every rule beyond the shape is the engine's, reported from here.

use napi::bindgen_prelude::Buffer;
use napi::Result;
use napi_derive::napi;

use crate::error::guarded;

/// One problem with a config: its path (`ports.b.mac`; empty when the bytes are not a
/// config at all) and what is wrong.
#[napi(object)]
#[derive(Debug)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl From<engine::validate::Problem> for ConfigProblem {
    fn from(p: engine::validate::Problem) -> Self {
        Self {
            path: p.path,
            message: p.message,
        }
    }
}

/// Every problem with a msgpack-encoded config, in config order (empty: none). Bytes that
/// do not decode (a shape the schema refuses, another schema version) are one problem.
#[napi]
#[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
pub fn config_problems(config: Buffer) -> Result<Vec<ConfigProblem>> {
    guarded("configProblems", || {
        Ok(engine::validate::problems_in(&config)
            .into_iter()
            .map(ConfigProblem::from)
            .collect())
    })
}
