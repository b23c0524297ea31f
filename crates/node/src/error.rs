//! Engine errors as JavaScript errors, and the guard that keeps panics on this side.

use std::panic::{catch_unwind, AssertUnwindSafe};

use engine::{EngineError, ErrorCode};
use napi::{Error, Result, Status};

pub(crate) fn to_js(e: &EngineError) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

/// Runs `f`, turning a panic into an `ERR_INTERNAL` error instead of unwinding into Node.
pub(crate) fn guarded<T>(
    what: &str,
    f: impl FnOnce() -> std::result::Result<T, EngineError>,
) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| to_js(&e)),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let e = EngineError::new(
                ErrorCode::Internal,
                format!("{what} panicked ({why}); this is a bug: please report it"),
            );
            Err(to_js(&e))
        }
    }
}

/// The error for a call on a stopped engine.
pub(crate) fn stopped() -> EngineError {
    EngineError::new(
        ErrorCode::Stopped,
        "the engine is stopped; start a new one (in a new process: EAL runs once per process)",
    )
}
