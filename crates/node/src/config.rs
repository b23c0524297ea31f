//! `configProblems`: the engine's config rules (`engine::validate`) for `@fastpath/control`,
//! without starting anything or reading the machine. `@fastpath/types` checks a config's
//! shape with zod; every rule beyond the shape is the engine's, reported from here.

// napi registers these with Node; a test build of the crate (clippy's) registers nothing, and
// from a private module they would read as unused.
#![cfg_attr(test, allow(dead_code))]

use std::panic::{catch_unwind, AssertUnwindSafe};

use engine::{EngineError, ErrorCode};
use napi::bindgen_prelude::Buffer;
use napi::{Error, Result, Status};
use napi_derive::napi;

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
    catch_unwind(AssertUnwindSafe(|| engine::validate::problems_in(&config)))
        .map(|problems| problems.into_iter().map(ConfigProblem::from).collect())
        .map_err(|_| {
            let e = EngineError::new(
                ErrorCode::Internal,
                "configProblems panicked; this is a bug: please report it",
            );
            Error::new(Status::GenericFailure, e.to_string())
        })
}
